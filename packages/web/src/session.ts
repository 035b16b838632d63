/**
 * The signed-in user, kept across reloads and tabs: the refresh token is stored, and the
 * short-lived access token is renewed from it when the app starts and shortly before it expires.
 */
import { reactive } from "vue";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: "customer" | "stock_manager" | "ops" | "admin";
}

export interface SignedIn {
  user: SessionUser;
  token: string;
  refreshToken: string;
  expiresInSeconds: number;
}

type Refresh = (refreshToken: string) => Promise<Omit<SignedIn, "user"> | undefined>;

const KEY = "flashstock.session";

export const session = reactive<{ user: SessionUser | null; token?: string }>({ user: null });

let renewal: ReturnType<typeof setTimeout> | undefined;
let refresh: Refresh | undefined;

/** How this app renews an access token (the API's refresh call), set once when it starts. */
export function renewWith(refreshCall: Refresh): void {
  refresh = refreshCall;
  // Signed out in another tab: out here too.
  addEventListener("storage", (e) => {
    if (e.key === KEY && e.newValue === null && session.user) signOut();
  });
}

export function signIn(answer: SignedIn): void {
  session.user = answer.user;
  session.token = answer.token;
  localStorage.setItem(
    KEY,
    JSON.stringify({ user: answer.user, refreshToken: answer.refreshToken }),
  );
  scheduleRenewal(answer.expiresInSeconds);
}

export function signOut(): void {
  session.user = null;
  session.token = undefined;
  clearTimeout(renewal);
  localStorage.removeItem(KEY);
}

/** The stored login, if any, and its refresh token. */
export function storedSession(): { user: SessionUser; refreshToken: string } | null {
  const raw = localStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as { user: SessionUser; refreshToken: string }) : null;
}

/**
 * Renews the access token from the stored refresh token. Every refresh rotates the refresh token,
 * and the API treats a rotated token presented again as stolen (it ends the whole login). Tabs
 * share the stored token, so two tabs loading at once would present the same one: a lock shared
 * by the tabs of this origin makes them take turns, and each reads the stored token only once it
 * holds the lock, so it always sends the newest.
 */
export async function resumeSession(): Promise<boolean> {
  const renew = async (): Promise<boolean> => {
    const stored = storedSession();
    if (!stored || !refresh) return false;
    const answer = await refresh(stored.refreshToken);
    if (!answer) {
      // Another tab may have signed out, or this login was ended elsewhere.
      if (storedSession()?.refreshToken === stored.refreshToken) signOut();
      return false;
    }
    signIn({ user: stored.user, ...answer });
    return true;
  };
  // Locks exist in secure contexts (https, and http on 127.0.0.1 or localhost).
  return navigator.locks ? navigator.locks.request("flashstock.refresh", renew) : renew();
}

/** A minute before expiry (or at four fifths of a short lifetime), so no request meets a 401. */
function scheduleRenewal(expiresInSeconds: number): void {
  clearTimeout(renewal);
  const seconds = Math.max(1, Math.min(expiresInSeconds - 60, expiresInSeconds * 0.8));
  renewal = setTimeout(() => void resumeSession(), seconds * 1000);
}

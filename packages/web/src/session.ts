/**
 * The signed-in user, kept across reloads: the refresh token is stored, the short-lived access
 * token renewed from it when the app starts.
 */
import { reactive } from "vue";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: "customer" | "stock_manager" | "ops" | "admin";
}

const KEY = "flashstock.session";

export const session = reactive<{
  user: SessionUser | null;
  token?: string;
  refreshToken?: string;
}>({ user: null });

export function signIn(answer: { user: SessionUser; token: string; refreshToken: string }): void {
  session.user = answer.user;
  session.token = answer.token;
  session.refreshToken = answer.refreshToken;
  localStorage.setItem(
    KEY,
    JSON.stringify({ user: answer.user, refreshToken: answer.refreshToken }),
  );
}

export function signOut(): void {
  session.user = null;
  session.token = undefined;
  session.refreshToken = undefined;
  localStorage.removeItem(KEY);
}

/** The stored login, if any, and its refresh token. */
export function storedSession(): { user: SessionUser; refreshToken: string } | null {
  const raw = localStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as { user: SessionUser; refreshToken: string }) : null;
}

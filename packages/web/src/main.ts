import { createApp } from "vue";
import App from "./App.vue";
import { api, startApi } from "./api.ts";
import { router } from "./router.ts";
import { signIn, signOut, storedSession } from "./session.ts";

/** A stored login survives a reload: its refresh token buys a new access token. */
async function resumeSession(): Promise<void> {
  const stored = storedSession();
  if (!stored) return;
  const { data } = await api().POST("/auth/refresh", {
    body: { refreshToken: stored.refreshToken },
  });
  if (data) signIn({ user: stored.user, token: data.token, refreshToken: data.refreshToken });
  else signOut();
}

await startApi();
await resumeSession();
createApp(App).use(router).mount("#app");

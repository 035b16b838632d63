import { createApp } from "vue";
import App from "./App.vue";
import { api, startApi } from "./api.ts";
import { router } from "./router.ts";
import { renewWith, resumeSession } from "./session.ts";

await startApi();
renewWith(async (refreshToken) => {
  const { data } = await api().POST("/auth/refresh", { body: { refreshToken } });
  return data;
});
// A stored login survives a reload: its refresh token buys a new access token.
await resumeSession();
createApp(App).use(router).mount("#app");

import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// One build serves every stage: the API's URL comes from /config.json at run time.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [vue()],
  build: { outDir: "dist", emptyOutDir: true },
});

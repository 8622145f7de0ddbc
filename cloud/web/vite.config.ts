import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The operator dashboard: a static single-page app, built into cloud/dist/dashboard and served by bv-cloud. */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../dist/dashboard", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npx vite --config cloud/web/vite.config.ts` proxies the API to a local bv-cloud.
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/socket.io": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
});

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The operator dashboard: a static single-page app served by bv-cloud from dist/web. */
const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  build: {
    outDir: "../dist/web",
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

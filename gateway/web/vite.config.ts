import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the page with hot reload and forwards the API to a running gateway
// (`make run`), so the page talks to the same origin as it does in production.
const gateway = process.env.HAUL_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // The gateway serves dist/index.html at / and dist/assets/ with cache-forever headers,
  // so every asset name must carry its content hash (Vite's default).
  build: { outDir: "dist", assetsDir: "assets", emptyOutDir: true },
  server: {
    proxy: {
      "/downloads": gateway,
      "/files": gateway,
      "/stats": gateway,
      "/subscriptions": gateway,
      "/socket.io": { target: gateway, ws: true },
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});

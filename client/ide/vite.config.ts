// `npm run ide:build` bundles GraphiQL into dist/ide, which a development server serves at /graphiql.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // Asset URLs relative to /graphiql/, where the server mounts the page.
  base: './',
  build: { outDir: '../../dist/ide', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
});

// `npx vite build client/sample` bundles the sample page (index.html → main.tsx) into client/sample/dist.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // Relative asset URLs: the built page works from any path it is served under.
  base: './',
});

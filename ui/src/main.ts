import { mount } from 'svelte';
import App from './App.svelte';
import { theme } from './lib/app/theme.svelte';
import './app.css';

// The chosen colours before anything is drawn.
theme.init();

performance.mark('script-started');
const app = mount(App, { target: document.getElementById('app')! });
performance.mark('mounted');

export default app;

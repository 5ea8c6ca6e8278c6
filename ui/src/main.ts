import { mount } from 'svelte';
import App from './App.svelte';
import { theme } from './lib/app/theme.svelte';
import './app.css';

// The chosen colours before anything is drawn.
theme.init();

const app = mount(App, { target: document.getElementById('app')! });

export default app;

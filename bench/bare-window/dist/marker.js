// The same marker the app sets once its first data is rendered, here at the first paint.
requestAnimationFrame(() => {
  document.documentElement.dataset.interactive = '';
  performance.mark('interactive');
});

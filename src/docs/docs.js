// Scalar's reference, fed by this service's own document; no fonts, proxy or tools from Scalar's servers (the page works offline).
Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  showDeveloperTools: 'never',
  showToolbar: 'never',
  mcp: { disabled: true },
  telemetry: false,
});

// Scalar's reference, fed by this service's own document; no fonts, proxy, AI agent or tools from Scalar's servers (the page works offline).
// Only current options: a deprecated one (showToolbar) makes Scalar warn in every visitor's console.
Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  telemetry: false,
});

// Scalar's reference, fed by this service's own document; no fonts or proxy from Scalar's servers (the page works offline).
Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
});

/**
 * Files imported `with { type: 'file' }` (their path: on disk when run from source, inside the
 * executable once `bun run build` compiled it) or `with { type: 'text' }` (their contents).
 * TypeScript reads no import attributes, so it is told here what these extensions give.
 * (.html is typed by bun-types as an HTML bundle, and .js as a module: see `embeddedPath`.)
 */
declare module '*.css' {
  const path: string;
  export default path;
}

declare module '*.jpg' {
  const path: string;
  export default path;
}

declare module '*.sql' {
  const text: string;
  export default text;
}

declare module '*.wasm' {
  const path: string;
  export default path;
}

declare module '*.data' {
  const path: string;
  export default path;
}

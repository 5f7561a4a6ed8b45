// Files imported `with { type: "file" }`: Bun gives their path (inside the compiled binary, an embedded file).
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
// The search page's files, imported `with { type: "text" }` by src/web/search-page.ts: Bun gives their text.
declare module "*/search-page.html" {
  const text: string;
  export default text;
}
declare module "*/search-page.js" {
  const text: string;
  export default text;
}
declare module "*/api-client.js" {
  const text: string;
  export default text;
}
declare module "*/service-status.js" {
  const text: string;
  export default text;
}
declare module "*/search-page.css" {
  const text: string;
  export default text;
}
declare module "*/favicon.svg" {
  const text: string;
  export default text;
}
declare module "*/duplicates-panel.js" {
  const text: string;
  export default text;
}

// The /docs page: Swagger UI served from the swagger-ui-dist package by this service itself, so the docs work on a
// server with no internet access (no CDN). No inline script, so the page's policy can be `script-src 'self'`.
import type { Hono } from "hono";
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>fashion-image-processor API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-init.js"></script>
</body>
</html>`;

// validatorUrl: null, or Swagger UI would send the document to validator.swagger.io for a badge.
const init = (specUrl: string) =>
  `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#swagger-ui", validatorUrl: null });\n`;

export function mountDocsPage(app: Hono, specUrl: string): void {
  app.get("/docs", (c) => c.html(page));
  app.get("/docs/swagger-init.js", (c) => c.body(init(specUrl), 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/docs/swagger-ui.css", () => asset(swaggerCss, "text/css; charset=utf-8"));
  app.get("/docs/swagger-ui-bundle.js", () => asset(swaggerJs, "text/javascript; charset=utf-8"));
}

function asset(path: string, contentType: string): Response {
  return new Response(Bun.file(path), { headers: { "Content-Type": contentType, "Cache-Control": "public, max-age=86400" } });
}

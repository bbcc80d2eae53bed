// The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with.
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_CODES } from '../shared/errors.js';
import type { RouteDefinition } from './route.js';

// Needed for registry.register(); schemas elsewhere name themselves with zod's own .meta({ id }).
extendZodWithOpenApi(z);

const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ in: z.enum(['body', 'query', 'params', 'header']), field: z.string(), message: z.string() }))
      .optional(),
    callingHours: z
      .object({ timeZone: z.string(), start: z.string(), end: z.string(), days: z.array(z.number().int()), requestedLocal: z.string() })
      .optional()
      .describe("OUTSIDE_CALLING_HOURS: the party's window in their own time zone, and the refused time as their clock reads it"),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable facesign error code.' });

export function buildOpenApiDocument(routes: RouteDefinition[], serverUrl: string): object {
  const registry = new OpenAPIRegistry();
  registry.register('Problem', problemSchema);
  registry.registerComponent('securitySchemes', 'cookieSession', {
    type: 'apiKey',
    in: 'cookie',
    name: 'fs_session',
    description: 'Browser session from POST /api/auth/login. Mutations also need the X-CSRF-Token header.',
  });
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'LOS API key: "Authorization: Bearer fsk_…". Keys carry scopes.',
  });
  for (const route of routes) route.document(registry);
  const codes = Object.entries(ERROR_CODES)
    .map(([code, { status, title }]) => `| \`${code}\` | ${status} | ${title} |`)
    .join('\n');
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'facesign API',
      version: '1',
      description: `Call and video verification for lenders.\n\nErrors are \`application/problem+json\` with a stable \`code\`:\n\n| code | status | meaning |\n|---|---|---|\n${codes}`,
    },
    servers: [{ url: serverUrl }],
  });
}

/** A self-contained page (no CDN: facesign runs air-gapped) that renders the document. */
export const API_DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>facesign API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#14324f;color:#fff;padding:16px 32px}main{max-width:1000px;margin:0 auto;padding:16px 32px}
section.op{background:#fff;border:1px solid #dde2ea;border-radius:8px;margin:12px 0;padding:12px 16px}
.m{display:inline-block;min-width:64px;font-weight:700;text-transform:uppercase}
.get{color:#0a7d32}.post{color:#0b5cad}.patch,.put{color:#9a5b00}.delete{color:#b3261e}
code,pre{font:13px ui-monospace,monospace}pre{background:#f1f3f6;padding:8px;overflow:auto;border-radius:6px}
h2{margin-top:28px}details summary{cursor:pointer;color:#0b5cad}
</style></head><body><header><h1>facesign API</h1><div>OpenAPI 3.1 · <a style="color:#cde" href="/api/openapi.json">openapi.json</a></div></header>
<main id="root">Loading…</main>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/api/openapi.json').then((r) => r.json()).then((doc) => {
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths || {})) for (const [method, op] of Object.entries(ops)) {
    for (const tag of op.tags || ['other']) (byTag[tag] ||= []).push({ path, method, op });
  }
  let html = '<p>' + esc(doc.info.description || '').replace(/\\n/g, '<br>') + '</p>';
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of ops) {
      html += '<section class="op"><div><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) + '</code> — ' + esc(op.summary || '') + '</div>';
      html += '<div>' + esc(op.description || '') + '</div>';
      html += '<details><summary>request and responses</summary><pre>' + esc(JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2)) + '</pre></details></section>';
    }
  }
  html += '<h2>Schemas</h2><details><summary>components</summary><pre>' + esc(JSON.stringify(doc.components, null, 2)) + '</pre></details>';
  document.getElementById('root').innerHTML = html;
});
</script></body></html>`;

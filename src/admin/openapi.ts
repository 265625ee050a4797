import { z } from 'zod';
import type { AnyRoute } from './api.ts';
import { API_PREFIX, CSRF_HEADER, errorSchema, SESSION_COOKIE } from './schemas.ts';

type Json = Record<string, unknown>;

const schemaOf = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

function parameters(r: AnyRoute): Json[] {
  if (!r.query) return [];
  const js = schemaOf(r.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema,
  }));
}

function security(r: AnyRoute): Json[] | undefined {
  if (r.access === 'public') return [];
  if (r.access === 'session' || !r.access.token) return [{ session: [] }];
  return [{ session: [] }, { token: [] }];
}

/** OpenAPI 3.1 for the admin API, from the same zod schemas the server validates with. */
export function openApiDocument(routes: readonly AnyRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  const errorContent = { 'application/json': { schema: errorRef } };
  for (const r of routes) {
    const responses: Record<string, Json> = {};
    const status = String(r.status ?? 200);
    if (r.response) responses[status] = { description: 'OK', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } };
    for (const [code, description] of Object.entries(r.other ?? {})) {
      const [num, type] = code.split(' ');
      if (type) {
        const existing = responses[num as string] ?? { description };
        const content = (existing.content as Json | undefined) ?? {};
        responses[num as string] = { ...existing, content: { ...content, [type]: { schema: { type: 'string' } } } };
      } else responses[num as string] = { description };
    }
    for (const [code, description] of [
      ['400', 'Invalid request'], ['401', 'No valid session or token'], ['403', 'Wrong role, scope, CSRF token or origin'],
      ['429', 'Rate limited'], ['500', 'Internal error'],
    ] as const) responses[code] ??= { description, content: errorContent };
    const op: Json = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      tags: [r.tag],
      parameters: parameters(r),
      responses,
    };
    const sec = security(r);
    if (sec) op.security = sec;
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } };
    (paths[`${API_PREFIX}${r.path}`] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley admin API',
      version: '1',
      description: `Session cookie ${SESSION_COOKIE} (HttpOnly, SameSite=Strict) plus the ${CSRF_HEADER} header on POST/PUT/DELETE, or an API token as a bearer token. See docs/admin-api.md.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Error: schemaOf(errorSchema, 'output') },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        token: { type: 'http', scheme: 'bearer', description: 'API token ptk_...' },
      },
    },
  };
}

import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type Json = Record<string, unknown>;
type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: Json }> }>; requestBody?: { content: Record<string, { schema: Json }> }; parameters?: Array<{ name: string; in: string; schema: Json }> };

// CJS modules under ESM: the constructor sits on `default`.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module) as unknown as new (o: Json) => {
  compile(s: Json): ((v: unknown) => boolean) & { errors?: unknown };
  addSchema(s: Json, key: string): void;
};
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: unknown) => void;

/**
 * The checks a contract test makes of the OpenAPI document (the official 3.1
 * meta-schema is not available offline here): the document's shape, that every
 * schema in it is valid JSON Schema 2020-12 (Ajv compiles it), and a validator
 * for answers.
 */
export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly problems: string[] = [];

  constructor(readonly doc: Json) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc, 'doc');
    this.checkShape();
  }

  private checkShape(): void {
    const d = this.doc as { openapi?: string; info?: { title?: string; version?: string }; paths?: Record<string, Record<string, Operation>>; components?: Json };
    if (d.openapi !== '3.1.0') this.problems.push('openapi must be 3.1.0');
    if (!d.info?.title || !d.info.version) this.problems.push('info.title and info.version are required');
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(d.paths ?? {})) {
      if (!path.startsWith('/')) this.problems.push(`${path}: paths start with /`);
      for (const [method, op] of Object.entries(item)) {
        if (!['get', 'put', 'post', 'delete'].includes(method)) this.problems.push(`${path}: unexpected method ${method}`);
        if (!op.operationId || ids.has(op.operationId)) this.problems.push(`${method} ${path}: missing or duplicate operationId`);
        ids.add(op.operationId);
        if (!op.responses || Object.keys(op.responses).length === 0) this.problems.push(`${method} ${path}: no responses`);
        for (const [status, r] of Object.entries(op.responses ?? {})) {
          if (!/^[1-5]\d\d$/.test(status)) this.problems.push(`${method} ${path}: bad status ${status}`);
          if (typeof (r as { description?: unknown }).description !== 'string') this.problems.push(`${method} ${path} ${status}: description required`);
          for (const c of Object.values(r.content ?? {})) this.compiles(c.schema, `${method} ${path} ${status}`);
        }
        for (const c of Object.values(op.requestBody?.content ?? {})) this.compiles(c.schema, `${method} ${path} body`);
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query') this.problems.push(`${method} ${path}: parameter ${p.name} not in query`);
          this.compiles(p.schema, `${method} ${path} ?${p.name}`);
        }
      }
    }
  }

  private compiles(schema: Json, where: string): void {
    try {
      this.ajv.compile(this.resolve(schema));
    } catch (err) {
      this.problems.push(`${where}: schema does not compile: ${(err as Error).message}`);
    }
  }

  private resolve(schema: Json): Json {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as Json;
  }

  /** Problems with one answer, or [] when it conforms to the document. */
  check(method: string, path: string, status: number, body: unknown): string[] {
    const op = (this.doc.paths as Record<string, Record<string, Operation>>)[path]?.[method.toLowerCase()];
    if (!op) return [`${method} ${path}: not in the document`];
    const response = op.responses[String(status)];
    if (!response) return [`${method} ${path}: status ${status} not documented`];
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return [];
    const validate = this.ajv.compile(this.resolve(schema));
    return validate(body) ? [] : [`${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`];
  }
}

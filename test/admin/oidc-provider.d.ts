/** The slice of oidc-provider 9 (no bundled typings) the OIDC test uses. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface GrantInstance {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  interface KoaContext {
    oidc: {
      provider: { Grant: new (o: { clientId: string; accountId: string }) => GrantInstance };
      client?: { clientId: string };
      session?: { accountId?: string };
    };
  }
  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }
  interface Configuration {
    clients: Array<Record<string, unknown>>;
    pkce?: { required(): boolean };
    scopes?: string[];
    claims?: Record<string, string[]>;
    findAccount(ctx: KoaContext, id: string): Promise<Account | undefined>;
    loadExistingGrant?(ctx: KoaContext): Promise<GrantInstance | undefined>;
    features?: Record<string, { enabled: boolean }>;
    interactions?: { url(ctx: KoaContext, interaction: { uid: string }): string };
  }
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  }
}

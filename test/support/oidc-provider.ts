import http from 'node:http';
import Provider from 'oidc-provider';

export interface TestIdp {
  issuer: string;
  /** The account the next login interaction signs in as. */
  choose(account: string): void;
  close(): Promise<void>;
}

/** A real OpenID Connect provider (oidc-provider) whose login step signs in the account the test chose. */
export async function startIdp(port: number, redirectUri: string, groups: Record<string, string[]>, clientSecret: string): Promise<TestIdp> {
  const issuer = `http://127.0.0.1:${port}`;
  let next = Object.keys(groups)[0] as string;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'parley', client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, preferred_username: id, name: id.toUpperCase(), groups: groups[id] ?? [] }) }),
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client?.clientId as string, accountId: ctx.oidc.session?.accountId as string });
      grant.addOIDCScope('openid profile groups');
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void provider.interactionFinished(req, res, { login: { accountId: next } }, { mergeWithLastSubmission: false }).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    issuer,
    choose: (a) => {
      next = a;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

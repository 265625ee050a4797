/**
 * The reference stack for bench/teams.ts, in a process of its own: botbuilder's
 * CloudAdapter on restify 11 running Microsoft's echo-bot sample logic
 * (samples/javascript_nodejs/02.echo-bot), with the same authentication
 * settings as Parley (ConfigurationBotFrameworkAuthentication, every endpoint
 * at the stand-in, the bot's MSAL client with knownAuthorities). It trusts the
 * stand-in through NODE_EXTRA_CA_CERTS, set by the parent.
 * Env: BENCH_TEAMS_CONFIG (the connector config JSON), BENCH_LOGIC (echo | noop).
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication, MessageFactory } from 'botbuilder';
import { MsalServiceClientCredentialsFactory } from 'botframework-connector';
import restify from 'restify';

const cfg = JSON.parse(process.env.BENCH_TEAMS_CONFIG ?? '{}') as Record<string, string>;
const logic = process.env.BENCH_LOGIC ?? 'echo';

class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      const replyText = `Echo: ${context.activity.text}`;
      if (logic === 'echo') await context.sendActivity(MessageFactory.text(replyText, replyText));
      await next();
    });
  }
}

const cca = new ConfidentialClientApplication({
  auth: { clientId: cfg.appId ?? '', clientSecret: cfg.appPassword ?? '', authority: cfg.loginUrl ?? '', knownAuthorities: [new URL(cfg.loginUrl ?? '').host] },
});
const auth = new ConfigurationBotFrameworkAuthentication(
  {
    MicrosoftAppId: cfg.appId,
    MicrosoftAppTenantId: 'botframework.com',
    ValidateAuthority: true,
    ToChannelFromBotLoginUrl: cfg.loginUrl,
    ToChannelFromBotOAuthScope: cfg.oauthScope,
    ToBotFromChannelTokenIssuer: cfg.tokenIssuer,
    ToBotFromChannelOpenIdMetadataUrl: cfg.openIdMetadataUrl,
    CallerId: 'urn:botframework:azure',
  },
  new MsalServiceClientCredentialsFactory(cfg.appId ?? '', cca as unknown as ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1]),
);
const adapter = new CloudAdapter(auth);
adapter.onTurnError = async (_context, error) => {
  console.error(`[onTurnError] unhandled error: ${String(error)}`);
};
const bot = new EchoBot();

const server = restify.createServer();
server.use(restify.plugins.bodyParser());
server.post('/api/messages', async (req, res) => {
  await adapter.process(req, res, (context) => bot.run(context));
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`READY ${addr.port}`);
});

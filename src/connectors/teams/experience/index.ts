import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { domainSchema } from '../../../core/address.ts';
import type { UserDirectory } from '../../../core/directory.ts';
import type { Envelope } from '../../../core/envelope.ts';
import type { InboundTurn, OutboundPlan, TeamsExperience, TurnPlan } from '../contract.ts';
import type { ExperienceContext } from './context.ts';
import { FileLinks, FILES_PATH } from './file-links.ts';
import { handleTurn } from './inbound.ts';
import { followUps, recordSent, render } from './outbound.ts';
import { ExperienceStore } from './store.ts';
import { BoundedMap } from './users.ts';

/**
 * The Teams experience: commands, cards, Teams HTML and the translation of
 * activities to envelopes and back, with its state in Redis. See
 * docs/teams-experience.md for what Teams users see.
 */
export interface TeamsExperienceOptions {
  redis: Redis;
  keyPrefix: string;
  directory: UserDirectory;
  /** The organisation's federated domain: Teams users are `<local>@<domain>`. */
  domain: string;
  /** Further domains of the organisation (addresses there are Teams users, not external). */
  otherLocalDomains?: readonly string[];
  /** Platform of bare `user@domain` addresses per external domain (XMPP when not listed). */
  domainPlatforms?: Readonly<Record<string, 'xmpp' | 'sip'>>;
  /** The XMPP room service's domain, when channels and group chats are bridged to XMPP rooms. */
  roomsDomain?: string;
  /** Public base URL of Parley, for file links (`https://parley.example.org`). */
  publicBaseUrl: string;
  /** At least 32 bytes: signs file links and encrypts what they point to. */
  signingKey: Buffer;
  files?: {
    ttlMs?: number;
    maxBytes?: number;
    idleTimeoutMs?: number;
    /** Host suffixes Teams download URLs may use (SharePoint / OneDrive by default). */
    downloadHosts?: readonly string[];
    /** Tests only. */
    allowHttp?: boolean;
  };
  /** How long message maps (edits, deletes, quotes, reactions) are kept; 30 days by default. */
  messageMapTtlSeconds?: number;
  log?: Logger;
  now?: () => number;
}

export interface TeamsExperienceWithAnswers extends TeamsExperience {
  // Always present here (optional in the contract).
  /** Envelopes to ingest on the Teams user's behalf in answer to `env` (profile-response, auto-accept). */
  followUps(env: Envelope): Promise<readonly Envelope[]>;
}

export function createTeamsExperience(o: TeamsExperienceOptions): TeamsExperienceWithAnswers {
  const domain = domainSchema.parse(o.domain);
  const now = o.now ?? Date.now;
  const localDomains = new Set([domain, ...(o.otherLocalDomains ?? []).map((d) => domainSchema.parse(d))]);
  const domainPlatforms = new Map(Object.entries(o.domainPlatforms ?? {}).map(([d, p]) => [domainSchema.parse(d), p] as const));
  const files = new FileLinks({ redis: o.redis, keyPrefix: o.keyPrefix, baseUrl: o.publicBaseUrl.replace(/\/+$/, ''), signingKey: o.signingKey, now, ...o.files });
  const ctx: ExperienceContext = {
    store: new ExperienceStore(o.redis, o.keyPrefix, o.messageMapTtlSeconds ?? 30 * 24 * 3600),
    directory: o.directory,
    rules: { localDomains, domainPlatforms },
    domain,
    roomsDomain: o.roomsDomain ? domainSchema.parse(o.roomsDomain) : undefined,
    files,
    now,
    log: o.log,
    recent: new BoundedMap(50_000),
    presenceSet: new BoundedMap(50_000),
  };
  return {
    handle: (turn: InboundTurn): Promise<TurnPlan> => handleTurn(ctx, turn),
    render: (env: Envelope): Promise<OutboundPlan | undefined> => render(ctx, env),
    recordSent: (env: Envelope, plan: OutboundPlan, activityId: string): Promise<void> => recordSent(ctx, env, plan, activityId),
    followUps: (env: Envelope) => followUps(ctx, env),
    routes: () => [{ method: 'GET', path: FILES_PATH, handler: files.handler }],
  };
}

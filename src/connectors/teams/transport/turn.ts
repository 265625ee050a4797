import { TurnContext, type Activity, type ConversationReference } from 'botbuilder';

/** The tenant an activity belongs to (pacing key); 'unknown' outside Teams. */
export function tenantOf(activity: Readonly<Partial<Activity>>): string {
  const data = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const fromData = typeof data?.tenant?.id === 'string' ? data.tenant.id : undefined;
  return activity.conversation?.tenantId ?? fromData ?? 'unknown';
}

/** Teams looks members of a channel up under the team; elsewhere under the conversation. */
export function memberLookupConversation(activity: Readonly<Partial<Activity>>): string | undefined {
  const data = activity.channelData as { team?: { id?: unknown } } | undefined;
  return typeof data?.team?.id === 'string' ? data.team.id : activity.conversation?.id;
}

/** A reference for proactive sends: no activity id (a proactive message is not a reply). */
export function referenceFor(activity: Readonly<Partial<Activity>>): Partial<ConversationReference> {
  const { activityId: _activityId, ...ref } = TurnContext.getConversationReference(activity);
  return ref;
}

/** An outgoing activity addressed through a reference (the bot as sender). */
export function addressed(activity: Partial<Activity>, ref: Partial<ConversationReference>): Partial<Activity> {
  const out: Partial<Activity> = { type: 'message', ...activity };
  return TurnContext.applyConversationReference(out, ref, false);
}

/** Monotonic event counts of the Teams transport, for /metrics. */
export function newCounters() {
  return {
    activitiesIn: 0,
    badRequests: 0,
    unauthorized: 0,
    refusedServiceUrls: 0,
    redeliveries: 0,
    answeredLate: 0,
    failures: 0,
    envelopesIn: 0,
    repliesSent: 0,
    replyFailures: 0,
    sent: 0,
    sendFailures: 0,
    rateLimited: 0,
    resendsSkipped: 0,
    unknownConversations: 0,
  };
}

export type TransportCounters = ReturnType<typeof newCounters>;

/** XML namespaces of the XMPP features Parley speaks. */
export const NS = {
  client: 'jabber:client',
  component: 'jabber:component:accept',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  ping: 'urn:xmpp:ping',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  chatStates: 'http://jabber.org/protocol/chatstates',
  receipts: 'urn:xmpp:receipts',
  reactions: 'urn:xmpp:reactions:0',
  correction: 'urn:xmpp:message-correct:0',
  retract: 'urn:xmpp:message-retract:1',
  fallback: 'urn:xmpp:fallback:0',
  styling: 'urn:xmpp:styling:0',
  oob: 'jabber:x:oob',
  vcard: 'vcard-temp',
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  conference: 'jabber:x:conference',
  hints: 'urn:xmpp:hints',
  delay: 'urn:xmpp:delay',
} as const;

/** What disco#info advertises: exactly the features implemented here. */
export const USER_FEATURES = [
  NS.discoInfo,
  NS.chatStates,
  NS.receipts,
  NS.reactions,
  NS.correction,
  NS.retract,
  NS.styling,
  NS.oob,
  NS.vcard,
  NS.conference,
  NS.ping,
] as const;

import xml, { type Element } from '@xmpp/xml';
import type { Profile } from '../../core/envelope.ts';
import { NS } from './ns.ts';

/** vCard-temp (XEP-0054) <-> Parley's profile. Only the fields Parley carries. */
export function vcardToProfile(vcard: Element): Profile {
  const p: Profile = {};
  const text = (v: string | null | undefined, max: number): string | undefined => {
    const t = v?.trim();
    return t ? t.slice(0, max) : undefined;
  };
  const displayName = text(vcard.getChildText('FN'), 256);
  const email = text(vcard.getChild('EMAIL')?.getChildText('USERID'), 320);
  const title = text(vcard.getChildText('TITLE'), 256);
  const organization = text(vcard.getChild('ORG')?.getChildText('ORGNAME'), 256);
  const phone = text(vcard.getChild('TEL')?.getChildText('NUMBER'), 64);
  const photo = text(vcard.getChild('PHOTO')?.getChildText('EXTVAL'), 2048);
  if (displayName) p.displayName = displayName;
  if (email) p.email = email;
  if (title) p.title = title;
  if (organization) p.organization = organization;
  if (phone) p.phone = phone;
  if (photo && /^https?:\/\//i.test(photo)) p.avatarUrl = photo;
  return p;
}

export function profileToVcard(p: Profile): Element {
  return xml(
    'vCard',
    { xmlns: NS.vcard },
    p.displayName ? xml('FN', {}, p.displayName) : null,
    p.email ? xml('EMAIL', {}, xml('INTERNET'), xml('USERID', {}, p.email)) : null,
    p.title ? xml('TITLE', {}, p.title) : null,
    p.organization ? xml('ORG', {}, xml('ORGNAME', {}, p.organization)) : null,
    p.phone ? xml('TEL', {}, xml('WORK'), xml('NUMBER', {}, p.phone)) : null,
    p.avatarUrl ? xml('PHOTO', {}, xml('EXTVAL', {}, p.avatarUrl)) : null,
  );
}

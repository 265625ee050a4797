import { Core, UserAgent, type URI } from 'sip.js';

/** A final response, reduced to what the connector decides on. */
export interface FinalResponse {
  status: number;
  reason: string;
  header(name: string): string | undefined;
}

export function uri(text: string): URI {
  const u = UserAgent.makeURI(text);
  if (!u) throw new Error(`not a SIP URI: ${text.slice(0, 100)}`);
  return u;
}

export interface RequestSpec {
  method: string;
  target: string;
  from: string;
  fromName?: string;
  headers?: string[];
  body?: { type: string; content: string };
}

/**
 * Sends one out-of-dialog request and resolves with its final response
 * (sip.js answers a transaction timeout itself with 408).
 */
export function sendRequest(ua: UserAgent, spec: RequestSpec, timeoutMs: number): Promise<FinalResponse> {
  const target = uri(spec.target);
  const options: Core.OutgoingRequestMessageOptions = spec.fromName ? { fromDisplayName: spec.fromName } : {};
  const body = spec.body ? { contentDisposition: 'render', contentType: spec.body.type, content: spec.body.content } : undefined;
  const message = ua.userAgentCore.makeOutgoingRequestMessage(spec.method, target, uri(spec.from), target, options, spec.headers ?? [], body);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: FinalResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => finish({ status: 408, reason: 'Local Timeout', header: () => undefined }), timeoutMs);
    const final = (res: Core.IncomingResponse): void =>
      finish({ status: res.message.statusCode ?? 500, reason: res.message.reasonPhrase ?? '', header: (n) => res.message.getHeader(n) });
    try {
      ua.userAgentCore.request(message, { onAccept: final, onReject: final, onRedirect: final });
    } catch (err) {
      finish({ status: 503, reason: `Not Sent: ${(err as Error).message}`, header: () => undefined });
    }
  });
}

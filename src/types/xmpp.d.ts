// Minimal typings for the parts of xmpp.js Parley uses (the packages ship none).
declare module '@xmpp/xml' {
  export type Attrs = Record<string, string | undefined>;
  export class Element {
    name: string;
    attrs: Record<string, string>;
    children: Array<Element | string>;
    parent: Element | null;
    constructor(name: string, attrs?: Attrs);
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildByAttr(attr: string, value: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getChildElements(): Element[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    c(name: string, attrs?: Attrs): Element;
    t(text: string): Element;
    up(): Element;
    append(...nodes: Array<Element | string>): Element;
    toString(): string;
  }
  export class Parser {
    constructor();
    write(data: string): void;
    end(data?: string): void;
    on(event: 'element' | 'start' | 'end', listener: (el: Element) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export default function xml(name: string, attrs?: Attrs | null, ...children: Array<Element | string | null | undefined | false>): Element;
}

declare module '@xmpp/component-core' {
  import type { Element } from '@xmpp/xml';
  import type { EventEmitter } from 'node:events';
  export class Component extends EventEmitter {
    constructor(options: { service: string; domain: string });
    status: string;
    timeout: number;
    socket: import('node:net').Socket | null;
    parser: { write(s: string): void } | null;
    connect(service: string): Promise<void>;
    open(options: { domain: string; lang?: string }): Promise<Element>;
    authenticate(id: string, password: string): Promise<void>;
    disconnect(): Promise<void>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    write(s: string): Promise<void>;
    _onData(data: Buffer): void;
    _streamError(condition: string): Promise<void>;
  }
}

declare module '@xmpp/jid' {
  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }
  export default function jid(address: string): JID;
}

declare module '@xmpp/component' {
  import type { Element } from '@xmpp/xml';
  import type { EventEmitter } from 'node:events';
  export interface ComponentOptions {
    service: string;
    domain: string;
    password: string;
  }
  export interface Component extends EventEmitter {
    status: string;
    socket: import('node:net').Socket | null;
    parser: { write(s: string): void } | null;
    timeout: number;
    reconnect: { stop(): void; delay: number };
    start(): Promise<unknown>;
    stop(): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    send(el: Element): Promise<void>;
    write(s: string): Promise<void>;
    _onData(data: Buffer): void;
    _streamError(condition: string): Promise<void>;
  }
  export function component(options: ComponentOptions): Component;
  export { default as xml } from '@xmpp/xml';
}

declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml';
  import type { EventEmitter } from 'node:events';
  import type { JID } from '@xmpp/jid';
  export interface ClientOptions {
    service: string;
    domain: string;
    username: string;
    password: string;
    resource?: string;
  }
  export interface Client extends EventEmitter {
    jid: JID | null;
    status: string;
    reconnect: { stop(): void };
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    sendMany(els: Element[]): Promise<void>;
    write(s: string): Promise<void>;
    iqCaller: { request(el: Element, timeout?: number): Promise<Element> };
  }
  export function client(options: ClientOptions): Client;
  export { default as xml } from '@xmpp/xml';
}

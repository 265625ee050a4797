export { SipConnector, type SipConnectorOptions, type SipStats } from './connector.ts';

/**
 * Talking to etcd (Debian's etcd-server 3.4): a v3 client over its JSON
 * gateway with mutual TLS, and the command line of a member.
 * @module
 */
export {
  EtcdClient,
  EtcdError,
  memberIdHex,
  parseEtcdEndpoint,
} from "./client.ts";
export type {
  EtcdAlarmInfo,
  EtcdCallOptions,
  EtcdClientOptions,
  EtcdMemberInfo,
  EtcdStatusInfo,
  EtcdTls,
} from "./client.ts";
export { clientUrlOf, etcdArgs, etcdUrl, peerUrlOf } from "./args.ts";
export type { EtcdArgsOptions, EtcdCertFiles } from "./args.ts";

/**
 * Bronze's door to the kernel through Deno FFI: a small libc binding and
 * netlink clients (rtnetlink for links/addresses/routes, raw sockets for
 * uevents), and the system calls of an init (mount, reboot, waitpid...). Parsers are pure and tested with byte fixtures.
 * @module
 */
export {
  describeErrno,
  EADDRNOTAVAIL,
  EEXIST,
  ENOBUFS,
  ENOENT,
  EPIPE,
  errnoName,
  ESRCH,
  SyscallError,
} from "./errno.ts";
export { Libc, LIBC_PATH } from "./libc.ts";
export type { FinitOptions } from "./libc.ts";
export {
  EBUSY,
  ECHILD,
  EROFS,
  MNT_DETACH,
  MS_BIND,
  MS_MOVE,
  MS_NOATIME,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  O_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  RB_AUTOBOOT,
  RB_DISABLE_CAD,
  RB_POWER_OFF,
  Sys,
  WNOHANG,
} from "./sys.ts";
export type { DirEntry } from "./libc.ts";
export {
  attributeMap,
  concatBytes,
  encodeAttribute,
  encodeMessage,
  NetlinkParseError,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseAck,
  parseAttributes,
  parseMessages,
  u32Value,
} from "./netlink_message.ts";
export type {
  NetlinkAck,
  NetlinkAttribute,
  NetlinkMessage,
} from "./netlink_message.ts";
export {
  DatagramTooLargeError,
  NetlinkError,
  NetlinkSocket,
} from "./netlink_socket.ts";
export type { NetlinkSocketOptions, ReceiveOptions } from "./netlink_socket.ts";
export {
  addressRequest,
  AF_INET,
  AF_INET6,
  dumpRequest,
  familyName,
  familyNumber,
  IFF_UP,
  NETLINK_ROUTE,
  parseAddressMessage,
  parseLinkMessage,
  parseRouteMessage,
  routeRequest,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTPROT_STATIC,
  setLinkRequest,
} from "./rtnetlink.ts";
export type {
  AddressChange,
  AddressStatus,
  LinkChange,
  LinkStatus,
  RouteChange,
  RouteStatus,
} from "./rtnetlink.ts";
export { RouteNetlink } from "./route_netlink.ts";
export type { RouteNetlinkOptions } from "./route_netlink.ts";

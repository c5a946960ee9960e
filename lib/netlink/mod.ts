/**
 * Netlink over lib/ffi's libc: the message codec, a socket with bounded
 * receives, rtnetlink requests and parsers for links, addresses and routes
 * (pure, tested with byte fixtures), and RouteNetlink, the client networkd
 * and machined use. Raw sockets also carry udevd-lite's uevents.
 * @module
 */
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

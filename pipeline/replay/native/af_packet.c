/*
 * capflow AF_PACKET sender: the one piece of replay that needs native code.
 *
 *   open(ifname: string, vnetHdr: boolean) -> fd
 *   send(fd, frame: Uint8Array) -> bytes sent
 *   sendv(fd, frames: Uint8Array[], vnetHdrs: Uint8Array | null) -> messages sent (sendmmsg)
 *   close(fd)
 *
 * The socket is SOCK_RAW with protocol 0: it only sends (no receive queue), and the kernel takes
 * skb->protocol from each frame's Ethernet header (af_packet.c packet_snd). With vnetHdr the
 * socket has PACKET_VNET_HDR set and every message is [10-byte virtio_net_hdr][frame]; sendv
 * takes the headers as one buffer of frames.length * 10 bytes, sent as a second iovec in front
 * of each frame (no copy of the frames).
 *
 * Errors are thrown as JS Errors with `code` (e.g. "EPERM", "ENODEV", "EMSGSIZE"), `errno` and
 * `syscall`. sendv throws only when the first message fails; it returns a shorter count when a
 * later one does, so the caller can retry that one alone with send() to learn why.
 *
 * Node-API only (node_api.h, NAPI_VERSION 8): one binary works across Node versions.
 */
#define _GNU_SOURCE /* sendmmsg */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

#define VNET_HDR_LEN 10
#define MAX_BATCH 1024

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  char msg[256];
  const char *code = NULL;
  switch (err) {
    case EPERM: code = "EPERM"; break;
    case EACCES: code = "EACCES"; break;
    case ENODEV: code = "ENODEV"; break;
    case ENXIO: code = "ENXIO"; break;
    case EINVAL: code = "EINVAL"; break;
    case EMSGSIZE: code = "EMSGSIZE"; break;
    case ENOBUFS: code = "ENOBUFS"; break;
    case EAGAIN: code = "EAGAIN"; break;
    case ENETDOWN: code = "ENETDOWN"; break;
    case EBADF: code = "EBADF"; break;
    case EFAULT: code = "EFAULT"; break;
    case ENOSYS: code = "ENOSYS"; break;
    case EAFNOSUPPORT: code = "EAFNOSUPPORT"; break;
    default: code = "EIO"; break;
  }
  snprintf(msg, sizeof msg, "%s%s%s: %s", syscall, what ? " " : "", what ? what : "", strerror(err));
  napi_value e, m, c, n, s;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, e, "syscall", s);
  napi_throw(env, e);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* The bytes of a Uint8Array (Buffer included). */
static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  void *p = NULL;
  size_t n = 0;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)p;
  *len = n;
  return 1;
}

static int fd_arg(napi_env env, napi_value v, int *fd) {
  return napi_get_value_int32(env, v, fd) == napi_ok;
}

#ifdef __linux__

static napi_value af_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_type(env, "open(ifname, vnetHdr): ifname expected");
  char ifname[IF_NAMESIZE + 1];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &n) != napi_ok) {
    return throw_type(env, "open(ifname, vnetHdr): ifname must be a string");
  }
  if (n == 0 || n >= IF_NAMESIZE) return throw_type(env, "open(ifname, vnetHdr): bad interface name length");
  bool vnet = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &vnet);

  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, errno, "if_nametoindex", ifname);

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", "AF_PACKET");
  if (vnet) {
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, e, "setsockopt", "PACKET_VNET_HDR");
    }
  }
  /* Larger send buffer: a batch of super-packets must not block on the default one. */
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0; /* send only; protocol from the frame */
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind", ifname);
  }
  napi_value r;
  napi_create_int32(env, fd, &r);
  return r;
}

static napi_value af_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  uint8_t *data;
  size_t len;
  if (argc < 2 || !fd_arg(env, argv[0], &fd) || !bytes_of(env, argv[1], &data, &len)) {
    return throw_type(env, "send(fd, frame: Uint8Array)");
  }
  ssize_t n;
  do {
    n = send(fd, data, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "send", NULL);
  napi_value r;
  napi_create_int64(env, (int64_t)n, &r);
  return r;
}

static napi_value af_sendv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  bool is_array = false;
  if (argc < 2 || !fd_arg(env, argv[0], &fd) || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    return throw_type(env, "sendv(fd, frames: Uint8Array[], vnetHdrs: Uint8Array | null)");
  }
  uint32_t count = 0;
  napi_get_array_length(env, argv[1], &count);
  uint8_t *hdrs = NULL;
  size_t hdrs_len = 0;
  if (argc >= 3) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_null && t != napi_undefined) {
      if (!bytes_of(env, argv[2], &hdrs, &hdrs_len)) return throw_type(env, "sendv: vnetHdrs must be a Uint8Array or null");
      if (hdrs_len < (size_t)count * VNET_HDR_LEN) return throw_type(env, "sendv: vnetHdrs shorter than frames.length * 10");
    }
  }
  if (count > MAX_BATCH) count = MAX_BATCH;
  if (count == 0) {
    napi_value z;
    napi_create_uint32(env, 0, &z);
    return z;
  }
  struct mmsghdr *msgs = calloc(count, sizeof *msgs);
  struct iovec *iov = calloc((size_t)count * 2, sizeof *iov);
  if (!msgs || !iov) {
    free(msgs);
    free(iov);
    return throw_errno(env, ENOMEM, "sendv", "allocating the batch");
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    uint8_t *data;
    size_t len;
    napi_get_element(env, argv[1], i, &el);
    if (!bytes_of(env, el, &data, &len)) {
      free(msgs);
      free(iov);
      return throw_type(env, "sendv: every frame must be a Uint8Array");
    }
    struct iovec *v = &iov[(size_t)i * 2];
    int k = 0;
    if (hdrs) {
      v[k].iov_base = hdrs + (size_t)i * VNET_HDR_LEN;
      v[k].iov_len = VNET_HDR_LEN;
      k++;
    }
    v[k].iov_base = data;
    v[k].iov_len = len;
    k++;
    msgs[i].msg_hdr.msg_iov = v;
    msgs[i].msg_hdr.msg_iovlen = (size_t)k;
  }
  int sent;
  do {
    sent = sendmmsg(fd, msgs, count, 0);
  } while (sent < 0 && errno == EINTR);
  int e = errno;
  free(msgs);
  free(iov);
  if (sent < 0) return throw_errno(env, e, "sendmmsg", NULL);
  napi_value r;
  napi_create_uint32(env, (uint32_t)sent, &r);
  return r;
}

static napi_value af_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 1 || !fd_arg(env, argv[0], &fd)) return throw_type(env, "close(fd)");
  if (close(fd) < 0) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

#else /* not Linux: AF_PACKET does not exist */

static napi_value af_unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  return throw_errno(env, ENOSYS, "AF_PACKET", "(Linux only)");
}
#define af_open af_unsupported
#define af_send af_unsupported
#define af_sendv af_unsupported
#define af_close af_unsupported

#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, af_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, af_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendv", NULL, af_sendv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, af_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value v;
  napi_create_uint32(env, VNET_HDR_LEN, &v);
  napi_set_named_property(env, exports, "VNET_HDR_LEN", v);
  napi_create_uint32(env, MAX_BATCH, &v);
  napi_set_named_property(env, exports, "MAX_BATCH", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

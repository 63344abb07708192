/*
 * vfs_xfer — ramfs descriptors passed between processes over UNIX sockets
 * (SCM_RIGHTS), for shim/wrap_sock.c.
 *
 * Every ramfs descriptor is a dup of one placeholder, so the receiver
 * cannot tell from the kernel which open description it got.  The sender
 * takes one more reference on the description and sends, in the
 * descriptor's place, a token: a sealed memfd named "vadshim-fd" that
 * names the segment (device and inode of its shm file), the mount, the
 * description and a claim word.  A shimmed receiver that finds a token
 * among the descriptors it received claims it (compare-and-swap of the
 * claim word through a shared mapping: one claim per token, however many
 * times the memfd itself was passed on), puts the placeholder over the
 * token's number and adopts the reference.  No shared state of its own:
 * the descriptor table and the descriptions are guarded as in vfs/vfs.h
 * (fdt_lock, then lockfs).
 */
#ifndef VADSHIM_VFS_XFER_H
#define VADSHIM_VFS_XFER_H

#include <stdbool.h>

/* A token descriptor standing for ramfs descriptor fd, with one new
 * reference on its description; -errno on failure (no reference kept). */
int vfs_xfer_token(int fd);

/* The token was not sent: drop its reference and close it. */
void vfs_xfer_token_unsent(int token);

/* The token was sent (the kernel holds its own copy): close ours. */
void vfs_xfer_token_sent(int token);

/* A descriptor just received: if it is an unclaimed token of a segment
 * this process mounts, make fd a ramfs descriptor of that description
 * (close-on-exec if cloexec).  Returns true when adopted. */
bool vfs_xfer_adopt(int fd, bool cloexec);

#endif

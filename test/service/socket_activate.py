#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Starts a command the way systemd starts a socket-activated service.

Like parsec.socket + parsec.service: binds and listens on a Unix socket
with the socket unit's mode, user and group (SocketMode=, SocketUser=,
SocketGroup=), then switches to the service's user with its groups from
the user database (User=), and execs the command with the listening socket
on fd 3 and LISTEN_FDS=1 / LISTEN_PID=<its pid> (sd_listen_fds(3)).

usage: socket_activate.py PATH MODE SOCKET_USER SOCKET_GROUP USER CMD [ARGS...]
"""
import grp
import os
import pwd
import socket
import sys


def main():
    path, mode, socket_user, socket_group, user = sys.argv[1:6]
    cmd = sys.argv[6:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(128)
    os.chown(path, pwd.getpwnam(socket_user).pw_uid, grp.getgrnam(socket_group).gr_gid)
    os.chmod(path, int(mode, 8))
    if sock.fileno() != 3:
        os.dup2(sock.fileno(), 3)
    os.set_inheritable(3, True)
    pw = pwd.getpwnam(user)
    os.initgroups(user, pw.pw_gid)
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()

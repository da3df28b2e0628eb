import type { Namespace, Server } from 'socket.io';

/**
 * Socket.IO has no public way to list a server's namespaces or to drop one, so the few places
 * that must (the legacy relay, the session sweep, the cleanup of `/chat/<id>`) reach into its
 * private fields here and only here: `Server._nsps` (every namespace by name),
 * `ParentNamespace.children` (the children of `io.of(regex)`) and
 * `Namespace._preConnectSockets` (handshakes still in their middlewares). A Socket.IO upgrade
 * that renames one of them breaks this file and test/realtime/legacy-resources.test.ts, nothing
 * else. Checked against socket.io 4.8.
 */
interface ServerInternals {
  _nsps: Map<string, Namespace>;
}
interface NamespaceInternals {
  _preConnectSockets?: Map<string, unknown>;
  _remove(socket: unknown): void;
}
interface ParentInternals {
  children?: Set<Namespace>;
}

/** Every namespace that exists on this pod now, `/` and each live `/chat/<id>` included. */
export function allNamespaces(io: Server<any, any, any, any>): Map<string, Namespace> {
  return (io as unknown as ServerInternals)._nsps;
}

/**
 * Drops a child of `parent` (`io.of(regex)`) as soon as it holds no socket, connected or still
 * in its handshake: a refused handshake or the last disconnect leaves nothing on the pod.
 * Socket.IO's own `cleanupEmptyChildNamespaces` counts connected sockets only, so a refusal
 * during another client's handshake would drop the namespace under that client.
 */
export function dropWhenEmpty(io: Server<any, any, any, any>, parent: Namespace<any, any, any, any>, child: Namespace<any, any, any, any>): void {
  const inner = child as unknown as NamespaceInternals;
  const remove = inner._remove.bind(child);
  const isEmpty = () => child.sockets.size === 0 && (inner._preConnectSockets?.size ?? 0) === 0;
  inner._remove = (socket: unknown) => {
    remove(socket);
    if (!isEmpty()) return;
    // Checked again once the current I/O callbacks are done: a handshake that has just found
    // this namespace registers itself a few microtasks later, and must not land in a dropped one
    // (logout and the session sweep look sockets up through the server's namespaces).
    setImmediate(() => {
      const nsps = allNamespaces(io);
      if (!isEmpty() || nsps.get(child.name) !== child) return;
      nsps.delete(child.name);
      (parent as unknown as ParentInternals).children?.delete(child);
      void child.adapter.close();
    });
  };
}

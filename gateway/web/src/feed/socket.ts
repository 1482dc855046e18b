/** The `/jobs` Socket.IO namespace (gateway/sockets.py BrowserNamespace), typed. */

import { io, type Socket } from "socket.io-client";
import { loadToken } from "../api/token";
import type {
  CompletedEvent,
  FailedEvent,
  Job,
  ListSnapshot,
  ProgressEvent,
  SocketError,
  UpdateEvent,
} from "../api/types";

interface ServerEvents {
  progress: (event: ProgressEvent) => void;
  "job-update": (event: UpdateEvent) => void;
  completed: (event: CompletedEvent) => void;
  failed: (event: FailedEvent) => void;
  /** The gateway may have missed changes: subscribe again for a fresh snapshot. */
  resync: () => void;
}

type Subscription = { all: true } | { jobId: string };

interface ClientEvents {
  subscribe: (request: Subscription, answer: (reply: ListSnapshot | { job: Job } | SocketError) => void) => void;
  unsubscribe: (request: Subscription) => void;
}

export type JobSocket = Socket<ServerEvents, ClientEvents>;

const ACK_TIMEOUT_MS = 10_000;

export function openJobSocket(): JobSocket {
  return io("/jobs", {
    autoConnect: false,
    // WebSocket only: no sticky sessions are needed in front of several gateways, and where
    // WebSockets are blocked the page falls back to polling the REST API instead.
    transports: ["websocket"],
    // Read on every attempt, so a token typed after a refusal is used by the next one.
    auth: (send) => send({ token: loadToken() ?? "" }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 4000,
    // An attempt that a proxy accepts and then closes or holds never errors; give up on it
    // after this long (Socket.IO's default is 20 s) so the next one starts soon.
    timeout: 8000,
  });
}

function failure(reply: object): Error | null {
  return "error" in reply ? new Error((reply as SocketError).error.message) : null;
}

/** Join the list feed; the answer is the newest jobs. */
export async function subscribeAll(socket: JobSocket): Promise<ListSnapshot> {
  const reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("subscribe", { all: true });
  const error = failure(reply);
  if (error) throw error;
  return reply as ListSnapshot;
}

/** One job's snapshot through its room; the list feed already carries its events. */
export async function snapshotOf(socket: JobSocket, jobId: string): Promise<Job | null> {
  const reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("subscribe", { jobId });
  socket.emit("unsubscribe", { jobId });
  return "job" in reply ? reply.job : null;
}

// This process's threads with their scheduling priority, read from /proc (Linux): to check which work runs below the
// event loop.
import { readdirSync, readFileSync } from "node:fs";

export interface ThreadPriority {
  name: string;
  /** Field 19 of proc(5)'s stat, counted after the name (which may hold spaces). */
  nice: number;
}

export function threadPriorities(): ThreadPriority[] {
  return readdirSync("/proc/self/task").flatMap((tid) => {
    try {
      return [priorityOf(Number(tid))];
    } catch {
      return []; // ended meanwhile
    }
  });
}

/** The event loop's thread (its id is the process's). */
export function eventLoopNice(): number {
  return priorityOf(process.pid).nice;
}

function priorityOf(tid: number): ThreadPriority {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
  return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), nice: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]) };
}

// The C library calls the service makes that Bun and Node do not offer, in one place (Linux with glibc, the platform
// the service is built for: see README). Each thread that calls one opens the library once.
import { dlopen, FFIType } from "bun:ffi";

function openLibc() {
  return dlopen("libc.so.6", {
    setenv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 },
    gettid: { args: [], returns: FFIType.i32 },
    setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

let symbols: ReturnType<typeof openLibc> | null = null;

/** The library's functions; throws where there is no glibc to open. */
export function libc(): ReturnType<typeof openLibc> {
  return (symbols ??= openLibc());
}

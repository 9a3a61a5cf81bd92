import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { useResource } from "./useResource";

describe("useResource", () => {
  it("loads, keeps the last data through a failed reload, and recovers", async () => {
    const answers: (() => Promise<string>)[] = [
      () => Promise.resolve("first"),
      () => Promise.reject(new Error("the service is down")),
      () => Promise.resolve("second"),
    ];
    const load = vi.fn(() => (answers.shift() as () => Promise<string>)());
    const { result } = renderHook(() => useResource(load, []));
    expect(result.current.loading).toBe(true);
    await waitFor(() => expect(result.current.data).toBe("first"));
    expect(result.current).toMatchObject({ loading: false, error: null });

    act(() => result.current.reload());
    await waitFor(() => expect(result.current.error).toBeInstanceOf(Error));
    expect(result.current.data).toBe("first"); // still shown while the service is away

    act(() => result.current.reload());
    await waitFor(() => expect(result.current.data).toBe("second"));
    expect(result.current.error).toBeNull();
    expect(load).toHaveBeenCalledTimes(3);
  });

  it("reloads when a dependency changes and ignores the answer it abandoned", async () => {
    let release: (value: string) => void = () => {};
    const load = vi.fn((signal: AbortSignal) => new Promise<string>((resolve, reject) => {
      release = resolve;
      signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    }));
    const { result, rerender } = renderHook(({ dep }) => useResource(load, [dep]),
      { initialProps: { dep: 1 } });
    const first = release;
    rerender({ dep: 2 }); // the first load is aborted: its rejection is not an error
    release("fresh");
    await waitFor(() => expect(result.current.data).toBe("fresh"));
    first("stale");
    await new Promise((r) => setTimeout(r, 10));
    expect(result.current).toMatchObject({ data: "fresh", error: null });
    expect(load).toHaveBeenCalledTimes(2);
  });
});

// The helpers a board module may import from "/board-kit.js" (docs/games.md).

/**
 * Build an element: `h("button", { class: "x", onclick: f, "aria-label": "y" }, "text", child)`.
 * Attributes starting with "on" and given a function become listeners; `true` and `false`
 * toggle boolean attributes; null and undefined are skipped; `dataset` takes an object.
 */
export declare function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, unknown> | null,
  ...children: Array<Node | string | number | null | undefined | false | Array<Node | string>>
): HTMLElementTagNameMap[K];

/** Remove every child of `el`; returns `el`. */
export declare function clear<E extends Element>(el: E): E;

/** Arrow keys move the focus around a grid of buttons laid out `cols` wide. */
export declare function gridKeys(container: Element, cols: number, selector?: string): void;

/** The clocks of a room as a board receives them (`state.clocks`): each seat's ms as of
 * `arrived` (a `performance.now()` time), and the seats whose clocks run. */
export interface Clocks {
  ms: number[];
  run: number[];
  arrived: number;
}

/** What `seat` has left at `now` (default: now), in ms; null without clocks. */
export declare function clockLeft(clocks: Clocks | null, seat: number, now?: number): number | null;

/** A remaining time as people read it: "2d 4h", "3:07:15", "4:05", "0:09.4". */
export declare function clockText(ms: number): string;

/** The display name of a seat from a seats list: its player's name, or "seat N". */
export declare function seatName(
  seats: Array<{ kind: string; name: string | null }> | null | undefined,
  seat: number | null | undefined,
): string;

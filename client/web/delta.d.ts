// Deltas (delta.js, public: a front end of one's own imports it from "/delta.js").

/** A `d` message's operation: `[path, value]` sets (one past a list's end appends), `[path]` deletes. */
export type Op = [Array<string | number>, unknown] | [Array<string | number>];

/** The view after `ops`; the view given is not changed. Throws when an op does not apply. */
export declare function applyDelta<V>(view: V, ops: Op[]): V;

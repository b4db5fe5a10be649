// The service worker: shows a Web Push (a correspondence turn or reminder, docs/protocol.md
// "Web Push") as a notification, and a click on it opens the room.

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const title = data.event === "reminder" ? "Time is running out" : "Your turn";
  const body = data.game ? `${data.game}: it is your move` : "It is your move";
  event.waitUntil(
    self.registration.showNotification(title, { body, tag: `meeple-${data.room ?? ""}`, data }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const room = event.notification.data?.room;
  const url = room ? `/#/room/${encodeURIComponent(room)}` : "/#/lobby";
  event.waitUntil(self.clients.openWindow(url));
});

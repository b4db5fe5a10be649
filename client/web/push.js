// Web Push from the lobby: ask for the permission, register the service worker (sw.js)
// and give the server this browser's subscription, made with the server's VAPID key.

import * as api from "./api.js";

const fromB64url = (text) => {
  const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
};

/** Whether this browser can do Web Push at all. */
export const pushSupported = () =>
  "serviceWorker" in navigator && "PushManager" in window && typeof Notification !== "undefined";

/** Ask, register and subscribe; resolves to a sentence saying what happened. */
export async function enablePush() {
  if (!pushSupported()) return "This browser cannot show notifications.";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return "Notifications are blocked for this site.";
  const registration = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const { public_key: key } = await api.request("GET", "/api/push/key");
  let subscription;
  try {
    subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(key) }));
  } catch (error) {
    return `Push is not available here: ${error.message}`;
  }
  await api.request("POST", "/api/push/subscriptions", subscription.toJSON());
  return "You will be told of your correspondence turns.";
}

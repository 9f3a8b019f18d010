/* The task pane of clients that predate add-in commands: buttons that run the same functions. */
/* global Office, linkzoomAddin */
Office.onReady(function () {
  "use strict";
  var item = Office.context.mailbox.item;
  var status = document.getElementById("status");
  var run = function (name) {
    status.textContent = "Working…";
    linkzoomAddin.handlers[name]({ completed: function () { status.textContent = "Done."; } });
  };
  var message = document.getElementById("message-action");
  var event = document.getElementById("event-action");
  if (item.itemType === Office.MailboxEnums.ItemType.Message) {
    message.hidden = false;
    message.addEventListener("click", function () { run("insertZoomInMessage"); });
  } else {
    event.hidden = false;
    event.addEventListener("click", function () { run("toggleZoomInAppointment"); });
  }
  document.getElementById("sign-out").addEventListener("click", function () {
    linkzoomAddin.signOut().then(function () { status.textContent = "Signed out on this device."; });
  });
});

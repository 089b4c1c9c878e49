"""One-click video calls between the command room and the phones: WebRTC in the browsers, the
server as the scoped signalling channel, each call stored and put on its event's trail."""

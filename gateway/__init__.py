"""The gateway: REST and Socket.IO in front of jobstore. Not built yet; see the README."""

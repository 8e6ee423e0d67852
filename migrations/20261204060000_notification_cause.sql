-- Why a notice fired (issue 16): the event that made it, as the projection saw it (its id, log
-- position and writing transaction, type, aggregate, actor and time), or for a deadline reminder
-- the reminder day that was due. The watch's filter at that moment is not copied per recipient:
-- it is folded from the watch's events before that log position when a cause is read.
--
-- Expand only: notices written before have no cause (null).

ALTER TABLE notifications ADD COLUMN cause jsonb;

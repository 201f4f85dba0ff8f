// The local queue: tasks for employees that need no account, kept on this computer.
import { useCallback, useEffect, useState } from "react";
import type { EmployeeView } from "../bindings/EmployeeView";
import type { LocalTask } from "../bindings/LocalTask";
import { Empty, ErrorNote } from "../components/ErrorNote";
import { api, errorMessage, onEvent, stop } from "../ipc";

export function LocalQueue() {
  const [employees, setEmployees] = useState<EmployeeView[]>([]);
  const [tasks, setTasks] = useState<LocalTask[] | null>(null);
  const [employee, setEmployee] = useState("");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [list, t] = await Promise.all([api.employees(), api.localTasks()]);
      const local = list.filter((v) => v.employee.source === "local");
      setEmployees(local);
      setEmployee((cur) => cur || local[0]?.employee.name || "");
      setTasks(t);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    load();
    const un = onEvent((ev) => {
      if (ev.type === "run_started" || ev.type === "run_finished") load();
    });
    return stop(un);
  }, [load]);

  const add = async () => {
    if (!title.trim()) {
      setError("Write what the task is.");
      return;
    }
    try {
      await api.addLocalTask(employee, title.trim(), description);
      setTitle("");
      setDescription("");
      setError(null);
      setNote(`Added for ${employee}. It starts at once.`);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section aria-labelledby="queue-title">
      <header className="page-head">
        <h1 id="queue-title">Local queue</h1>
      </header>
      <p className="muted">Tasks for employees that need no account: they are kept on this computer.</p>
      {employees.length === 0 ? (
        <Empty>No employee takes tasks from the local queue. Add one on the Employees screen with “the local queue” as its source.</Empty>
      ) : (
        <form
          className="form compact"
          onSubmit={(e) => {
            e.preventDefault();
            add();
          }}
        >
          <label>
            Employee
            <select value={employee} onChange={(e) => setEmployee(e.target.value)}>
              {employees.map((v) => (
                <option key={v.employee.name} value={v.employee.name}>{v.employee.name}</option>
              ))}
            </select>
          </label>
          <label>
            Task
            <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Write a LinkedIn post about background agents" />
          </label>
          <label>
            Details (optional)
            <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={3} placeholder="Audience, length, links, anything the employee should know" />
          </label>
          <div className="row">
            <button type="submit">Add task</button>
          </div>
        </form>
      )}
      <ErrorNote error={error} />
      {note && <p className="ok-note" role="status">{note}</p>}
      {tasks && tasks.length > 0 && (
        <table className="runs">
          <thead>
            <tr><th>Task</th><th>Employee</th><th>State</th></tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.task.id}>
                <td className="task">{t.task.title}</td>
                <td>{t.employee}</td>
                <td>{t.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The confusion matrix as a PNG: rows = true class, columns = predicted, cell shade = row share. */
import { createCanvas } from 'canvas';

export function confusionMatrixPng(confusion: number[][], classNames: readonly string[], title = 'confusion matrix'): Buffer {
  const n = classNames.length;
  const cell = 44;
  const left = 96;
  const top = 96;
  const width = left + n * cell + 16;
  const height = top + n * cell + 40;
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = '#111111';
  g.font = 'bold 15px sans-serif';
  g.fillText(title, 8, 20);
  g.font = '12px sans-serif';
  g.textAlign = 'right';
  classNames.forEach((name, i) => g.fillText(name, left - 6, top + i * cell + cell / 2 + 4));
  classNames.forEach((name, j) => {
    g.save();
    g.translate(left + j * cell + cell / 2 + 4, top - 6);
    g.rotate(-Math.PI / 4);
    g.textAlign = 'left';
    g.fillText(name, 0, 0);
    g.restore();
  });
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      const share = count / total;
      // Diagonal in blue, errors in red, so mistakes stand out at a glance.
      const shade = Math.round(255 * (1 - Math.min(1, share * (i === j ? 1 : 4))));
      g.fillStyle = i === j ? `rgb(${shade},${shade},255)` : `rgb(255,${shade},${shade})`;
      g.fillRect(left + j * cell, top + i * cell, cell - 1, cell - 1);
      g.fillStyle = share > 0.5 && i === j ? '#ffffff' : '#111111';
      g.textAlign = 'center';
      g.fillText(String(count), left + j * cell + cell / 2, top + i * cell + cell / 2 + 4);
    });
  });
  g.textAlign = 'left';
  g.fillStyle = '#444444';
  g.fillText('rows: true class · columns: predicted class', left, top + n * cell + 24);
  return canvas.toBuffer('image/png');
}
